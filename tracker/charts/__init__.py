"""The survival figures, drawn with matplotlib on explicit Figure objects (no pyplot state), used
alike by the survival explorer (`survival`) and the annual report (`report`)."""
