"""Issue 13, point 5 in the browser: the map draws the demo district's grid polygons with the
vendored Leaflet (nothing from outside), colouring by a figure is one click and changes the
fills, a layer toggles off, a grid worker's map opens on their own grid, and the filing form's
"use my position" picks the grid holding the point and names the category's unit."""

from typing import Any

from closeloop.demo.data import grids
from closeloop.demo.geometry import grid_box
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, wait_until

SUPERVISOR = "lh-supervise"
WORKER = "lh-wg01"
LOADED = "document.querySelector('#map').dataset.loaded === 'yes'"


def _fills(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#map path.grid-shape", "(ps) => ps.map((p) => p.getAttribute('fill'))"
    )


def test_the_map_draws_the_grids_and_colours_them_in_one_click(
    new_page, live: LiveServer, shot
) -> None:
    page = new_page("desk")
    login(page, live, SUPERVISOR)
    click_and_wait(page, by_id("nav-map"))
    wait_until(page, LOADED)
    assert page.locator("#map path.grid-shape").count() == len(grids()) == 14
    assert page.get_attribute("#map", "data-centred") == "all"
    plain = _fills(page)
    assert len(set(plain)) == 1
    assert page.locator(by_id("map-legend")).is_hidden()

    page.locator(by_id("colour-open")).check()
    wait_until(page, "document.querySelector('#map').dataset.colour === 'open'")
    by_open = _fills(page)
    assert by_open != plain and len(set(by_open)) > 1
    assert page.locator(by_id("map-legend")).is_visible()
    page.locator(by_id("colour-closure_rate")).check()
    wait_until(page, "document.querySelector('#map').dataset.colour === 'closure_rate'")
    assert _fills(page) not in (plain, by_open)
    shot(page, "map-closure-rate")

    events = "#map path.pt-events"
    assert page.locator(events).count() > 0
    page.locator(by_id("layer-events")).uncheck()
    wait_until(page, f"document.querySelectorAll('{events}').length === 0")
    page.locator(by_id("layer-events")).check()
    wait_until(page, f"document.querySelectorAll('{events}').length > 0")

    all_open = page.locator("#map path.pt").count()
    page.select_option(by_id("map-overdue"), "true")
    wait_until(page, LOADED)
    assert page.locator("#map path.pt-events, #map path.pt-hazards-general").count() < all_open
    assert page.outside_requests == []


def test_a_grid_workers_map_opens_on_their_grid(new_page, live: LiveServer, shot) -> None:
    page = new_page("phone")
    login(page, live, WORKER)
    page.goto("/map")
    wait_until(page, LOADED)
    own = next(g for g in grids() if g.worker == WORKER)
    assert page.get_attribute("#map", "data-centred") == own.code
    assert page.locator("#map path.grid-shape").count() == 1
    lon0, lat0, lon1, lat1 = grid_box(own)
    centre = page.evaluate(
        "(() => { const m = document.querySelector('#map'); const r = m.getBoundingClientRect();"
        " return [r.width, r.height]; })()"
    )
    assert centre[0] > 0 and centre[1] > 0
    box = page.locator("#map path.grid-shape").bounding_box()
    assert box is not None and box["width"] > 100  # zoomed onto the grid, not the district
    shot(page, "map-phone-worker", full_page=False)
    assert (lon0 < lon1) and (lat0 < lat1)
    assert page.outside_requests == []


def test_use_my_position_fills_the_grid_and_names_the_unit(new_page, live: LiveServer) -> None:
    page = new_page("desk")
    own = next(g for g in grids() if g.code.endswith("02"))  # a grid a dispatcher may choose
    lon0, lat0, lon1, lat1 = grid_box(own)
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation({"latitude": (lat0 + lat1) / 2, "longitude": (lon0 + lon1) / 2})
    login(page, live, "lh-dispatch")
    page.goto("/report/new")
    form = page.locator(by_id("report-form"))
    item = form.locator(by_id("category-item")).locator("option[value]:not([value=''])").first
    form.locator(by_id("category-item")).select_option(item.get_attribute("value"))
    form.locator(by_id("locate")).click()
    wait_until(
        page, "document.querySelector('[data-testid=locate-suggest]').dataset.grid !== undefined"
    )
    assert page.get_attribute(by_id("locate-suggest"), "data-grid") == own.code
    assert form.locator(by_id("grid")).input_value() == own.code
    text = page.inner_text(by_id("locate-suggest"))
    assert own.name in text and "建议派往" in text
