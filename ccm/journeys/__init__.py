"""Customer journeys: definitions, events, orchestration and simulation."""
