"""Encoders: turn values, categories, dates, coordinates and image patches into SDRs (``htmagent.encoders``)."""
