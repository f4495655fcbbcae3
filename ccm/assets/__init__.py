"""Registry assets (logos, images, fonts) stored content-addressed by SHA-256."""
