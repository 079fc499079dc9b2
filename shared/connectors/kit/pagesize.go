package kit

// PageSize clamps a caller's page-size hint: def when it gives none (0 or
// less), max when it asks for more.
func PageSize(hint, def, max int) int {
	switch {
	case hint <= 0:
		return def
	case hint > max:
		return max
	}
	return hint
}

// Window is the [start, end) of the page of size items that begins at
// offset in a listing of total items, and the offset of the next page (0
// at the last). An offset past the end gives an empty page.
func Window(total, offset, size int) (start, end, next int) {
	start = min(max(offset, 0), total)
	end = min(start+size, total)
	if end < total {
		next = end
	}
	return start, end, next
}
