"""Know your customer: identity details, documents, reviews and verification levels."""
