package alert_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/config"
)

// input.id_fields defaults to the list the loader applies without it.
func TestDefaultIDFieldsMatchConfig(t *testing.T) {
	t.Parallel()
	assert.Equal(t, config.DefaultIDFields, alert.DefaultIDFields)
}
