"""The query-focused extractive composer: question analysis, follow-up resolution and evidence selection."""
