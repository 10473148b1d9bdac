package grpcfront

// shopProto is the API the tests serve: one method of each kind.
const shopProto = `
syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

service Users {
  rpc GetUser(GetUserRequest) returns (User);
  rpc ListUsers(ListUsersRequest) returns (stream User);
  rpc ImportUsers(stream User) returns (ImportSummary);
  rpc Chat(stream ChatMessage) returns (stream ChatMessage);
}

enum Role {
  ROLE_UNSPECIFIED = 0;
  ROLE_ADMIN = 1;
  ROLE_MEMBER = 2;
}

message GetUserRequest { int64 id = 1; }

message Address {
  string city = 1;
  string country = 2;
}

message User {
  int64 id = 1;
  string name = 2;
  string email = 3;
  Role role = 4;
  google.protobuf.Timestamp created_at = 5;
  repeated string tags = 6;
  Address address = 7;
  map<string, string> labels = 8;
  oneof contact {
    string phone = 9;
    string pager = 10;
  }
  User manager = 11;
  repeated int32 scores = 12;
  repeated fixed64 stamps = 13;
}

message ListUsersRequest { int32 page_size = 1; }

message ImportSummary {
  int32 imported = 1;
  repeated string names = 2;
}

message ChatMessage {
  string from = 1;
  string text = 2;
}
`
