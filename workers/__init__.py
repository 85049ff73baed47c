"""Stream consumers: aggregate events from Redis Streams into Postgres, exactly once."""
