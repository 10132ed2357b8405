"""Sell-out alerts: tell the brand and the driving creators before a variant runs out."""
