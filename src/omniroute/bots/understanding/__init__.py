"""Understanding: sentence embedders, the few-shot intent classifier and sentiment scoring."""
