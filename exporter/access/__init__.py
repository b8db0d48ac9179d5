"""Who may see what: logins, tokens and their sessions, and the names a viewer sees.

May import nothing of the other rooms; web/ asks it who the caller is."""
