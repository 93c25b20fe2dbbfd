"""The ACD: queues, agents, skills, tiers and strategies, stored in Redis.

``AcdStore`` keeps every piece of state in Redis and makes the decision that must not race
(reserve an agent for a waiting call) one atomic Lua step, so several controllers can share it.
"""
