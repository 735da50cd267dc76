"""Events out: what happened on the box, told to the systems that listen (``model``: the events and
their one JSON shape; ``mqtt`` with Home Assistant discovery; ``webhook`` signed POSTs; ``dispatch``:
delivery from the durable outbox, at least once, in order, per channel)."""
