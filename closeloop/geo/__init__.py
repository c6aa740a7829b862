"""The map: grid boundaries, locating a point in a grid, and the coordinate systems (WGS-84 as
phones give and as Closeloop stores; GCJ-02 only towards a Chinese base map)."""
