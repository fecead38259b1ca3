"""Who may use the screens: user store, roles, login, single sign-on, CSRF."""
