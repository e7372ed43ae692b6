"""Label layouts and output (PNG/SVG/PDF, ZPL), printer transports and the print queue."""
