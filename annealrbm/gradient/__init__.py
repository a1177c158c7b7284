"""From samples to a gradient: the positive and negative phases' statistics, the centred
gradient (`estimators`), and the restarts of redundant hidden units (`unit_restarts`)."""
