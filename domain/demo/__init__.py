"""The demo community `make run` loads (manage.py seed_demo). It writes into every area, so
it sits above all of them and nothing imports it."""
