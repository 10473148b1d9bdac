package grpcfront

// ShopProto is the test API, for the external tests.
const ShopProto = shopProto
