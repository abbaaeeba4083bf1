"""Tornado's side: the one route table (application.py), the BaseHandler, and thin handlers per endpoint family."""
