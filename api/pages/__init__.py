"""Server-rendered pages (Jinja2) for the public, staff, coordinators and the legal office.

Each module holds the routes of one kind of user; `api.routes.pages` assembles them.
"""
