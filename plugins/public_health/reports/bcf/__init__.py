"""Better Care Fund (BCF): per-year metric configuration, plan-vs-actual calculations and the quarterly return."""
