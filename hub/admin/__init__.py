"""The alliance admins' area: new brands and groups, coordinators, the audit log."""
