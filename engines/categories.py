"""The fixed genre vocabulary that songs are filed under.

Kept free of heavy imports: the song service imports it to answer ListCategories, and the
planner scores exactly these names, so a song can never carry a category outside this list.
"""

CATEGORIES: tuple[str, ...] = (
    "pop",
    "rock",
    "hip hop",
    "electronic",
    "dance",
    "r&b",
    "jazz",
    "blues",
    "classical",
    "country",
    "folk",
    "metal",
    "punk",
    "reggae",
    "latin",
    "ambient",
    "lo-fi",
    "soundtrack",
)
