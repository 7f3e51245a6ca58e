"""Realtime fan-out: Redis pub/sub channels that subscriptions listen on."""
