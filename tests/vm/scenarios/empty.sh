# empty: ip_vs loaded (with every scheduler module), no services, no traffic.
:
