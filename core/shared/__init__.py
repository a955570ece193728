"""What the model core and the Blender add-on both need, written once: the skeleton, the rotation
math, the emotions, the frame rates, the face spaces' channel names, the worker protocol and the
motion-file schema.

Blender's Python has no torch, so the add-on may not import `core`; these modules are therefore
plain Python and numpy (a test parses every import), import nothing from `core` outside this
package, and import each other only relatively, so they work under either package name.

`core` imports them from here (`core.skeleton`, `core.rotations`, `core.emotions`, `core.rates`
and `core.errors` re-export them under their old names). The add-on imports `blender_addon.shared`,
a copy that `build.py` writes (`python build.py shared`, and before `test`, `demo` and
`extension`; `tests/conftest.py` refreshes it before every test run) and that git ignores. The
extension zip takes its `shared/` straight from this folder. The copy is generated rather than
committed so that exactly one hand-edited version exists: an edit made to the copy is overwritten
on the next refresh instead of living on as a second source, and tests/test_shared.py checks
that the copy in the checkout and in the zip are byte for byte this folder.
"""
