package admin

// Routes returns the method and path pattern of every route the admin API
// serves, for the OpenAPI coverage test.
func Routes() [][2]string {
	out := make([][2]string, 0, len(routes))
	for _, rt := range routes {
		out = append(out, [2]string{rt.method, rt.path})
	}
	return out
}
