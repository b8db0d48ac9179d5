"""What both Flask apps share: JSON errors, bounded JSON bodies, the OpenAPI document."""
