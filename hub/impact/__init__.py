"""The alliance's results: enforcement referrals, takedown timing, the impact dashboard
and the annual report."""
