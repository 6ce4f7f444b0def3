"""compile / fit / evaluate / predict (placeholder until the trainer lands)."""


class Trainer:
    pass
