"""Event calendars: workshops, trainings, webinars, conferences and group meetings."""
