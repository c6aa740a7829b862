import pytest

from closeloop.geo.shapes import bbox, contains

SQUARE = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
HOLE = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]
FAR = [[20.0, 20.0], [22.0, 20.0], [22.0, 22.0], [20.0, 22.0], [20.0, 20.0]]


def test_a_polygon_holds_its_inside_and_not_its_outside() -> None:
    poly = {"type": "Polygon", "coordinates": [SQUARE]}
    assert contains(poly, 5, 5)
    assert not contains(poly, 11, 5)
    assert not contains(poly, 5, -0.1)


def test_a_hole_is_outside() -> None:
    poly = {"type": "Polygon", "coordinates": [SQUARE, HOLE]}
    assert not contains(poly, 5, 5)
    assert contains(poly, 2, 2)
    assert contains(poly, 7, 5)


def test_a_multipolygon_holds_a_point_in_any_of_its_parts() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [FAR]]}
    assert contains(multi, 21, 21)
    assert contains(multi, 1, 1)
    assert not contains(multi, 5, 5)  # in the first part's hole
    assert not contains(multi, 15, 15)  # between the parts
    assert bbox(multi) == (0.0, 0.0, 22.0, 22.0)


def test_other_geometry_types_are_refused() -> None:
    with pytest.raises(ValueError, match="Point"):
        contains({"type": "Point", "coordinates": [1, 1]}, 1, 1)
