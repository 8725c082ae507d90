"""Local media: probing, the rules Kling applies, thumbnails, and clip synthesis."""
