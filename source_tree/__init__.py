"""What the checkout is: its git revision and the project image's tag (pure, no project imports)."""
