"""The control plane: RunTask/StartTask/StopTask, the service scheduler and the ECS client."""
