"""Reputation: the events ledger, progressive staking, merge/revert tracking and ratings."""
