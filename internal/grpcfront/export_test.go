package grpcfront

// ShopProto is the test API, for the external tests.
const ShopProto = shopProto

// Accepted is how many connections s accepted on its cleartext listener.
func Accepted(s *Server) int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return s.conns.accepted
}
