"""SQLite storage: the schema is the contract between runs.

schema.py holds the tables (a comment on every column) and the migrations; one module per domain
(runs, feeds, articles, emails, search) holds its queries; store.Store composes them onto one
connection, and store.guard is the one place sqlite errors become StoreError.
"""
