"""Waitlists for sold-out variants that keep the creator's credit for the comeback sale."""
