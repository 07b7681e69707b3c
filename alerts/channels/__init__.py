"""alerts/channels"""
