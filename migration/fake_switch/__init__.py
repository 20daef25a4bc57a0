"""A Cisco IOS site switch simulated with fake-switches, its content generated from the city."""
