"""The controller: reacts to the switch's events and drives calls through the ACD."""
