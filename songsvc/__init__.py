"""songsvc: songs, the public feed, likes and plays, and the generation worker."""
