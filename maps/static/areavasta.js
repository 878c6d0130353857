/* the maps' shared script (filled in the next commit) */
