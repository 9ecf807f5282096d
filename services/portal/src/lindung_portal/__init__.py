"""Lindung portal: server-rendered pages for venue managers and regional health offices."""
