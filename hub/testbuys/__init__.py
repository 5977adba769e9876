"""The test-buy program: campaigns, brand sign-ups, purchases, custody, results."""
