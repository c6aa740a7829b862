"""The map (一图览全域): the layers drawn over the grid polygons — grids with their figures, open
events and hazards, listed major hazards and risk points — in the coordinate system the base map
needs. Above reports: the grids' closure rate comes from reports.metrics."""
