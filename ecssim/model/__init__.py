"""Value objects: task definitions, instance types and the ECS enums."""
