"""Customers: profiles, contact points, preferences and consent per channel and purpose."""
