"""The useapi.net Kling client: plain Python, no Qt."""
